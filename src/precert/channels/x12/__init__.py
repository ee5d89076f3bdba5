"""X12 5010 engine: tokenizer, envelopes (ISA/GS/ST) and 999 acknowledgments, for any
transaction set (278, 270/271 here; 837/835 in issue 5). Pure Python, no I/O."""
