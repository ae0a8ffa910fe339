"""Test support: a scripted mock LM server and real-upstream log scenarios."""

from .mock_openai import MockLMServer, MockReply, RecordedRequest

__all__ = ["MockLMServer", "MockReply", "RecordedRequest"]
