"""Build the Medicare FFS payer pack from the CMS prior-authorization lists.

`common` reads the CSVs and holds the helpers every list shares; `opd`, `dmepos`, `wiser` and
`rsnat` each turn one CMS list into pack rules; `pack` assembles, renders and checks the YAML.
"""
