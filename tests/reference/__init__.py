"""Independent reference implementations the product is tested against (issue 11's proof)."""
