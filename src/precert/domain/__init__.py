"""The pure core: codes, payer rules, the requirement engine. No I/O, no clocks, no frameworks."""
