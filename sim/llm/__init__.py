"""Model backends and the gateway that every LLM call goes through."""
