"""Documents people read: checklists and letters rendered to PDF (reportlab)."""
