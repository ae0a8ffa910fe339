"""The RLM engine: loop, LM clients, REPL environments; emits events (no Qt)."""
