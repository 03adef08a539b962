"""Register the bill-side kinds (bills, payments, sub-meter readings, smart-meter days)."""
