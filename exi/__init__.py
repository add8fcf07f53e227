"""Schema-informed EXI 1.0 codec for the ISO 15118 schemas (grammars generated from the XSDs)."""
