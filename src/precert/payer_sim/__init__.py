"""The payer simulator: a standalone server that answers Da Vinci PAS `Claim/$submit` and
`$inquire` and notifies rest-hook Subscriptions, adjudicating by a rules file, so every channel
can be tested and demonstrated without a payer contract (`precert payer-sim`, docs/payer-sim.md).

rules.py reads the adjudication rules; state.py keeps submissions and subscriptions on disk;
pas.py turns a request Bundle and a decision into the PAS response Bundle; subscriptions.py
decides pended requests when their delay is over and posts the notifications; app.py is the
FastAPI app that ties them together.
"""
