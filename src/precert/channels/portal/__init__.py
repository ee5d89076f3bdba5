"""The payer-portal channel: SOP workflows in plain English (sop), later the runner and the vault.

Only the workflow language lives here so far: `sop.compile_sop` turns a Markdown SOP into a
`workflow.Workflow` that a runner can execute step by step. Nothing here imports Playwright.
"""
