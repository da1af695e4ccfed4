"""Reporters: terminal (rich), JSON, JUnit, Markdown, HTML; they read results only."""
