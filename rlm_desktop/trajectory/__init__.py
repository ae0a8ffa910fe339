"""Run-tree data model and JSONL read/write/index/tail (no Qt)."""
