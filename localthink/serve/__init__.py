"""`localthink serve`: the local models behind OpenAI- and Ollama-compatible HTTP APIs.

One ASGI app (app.py); a module per dialect (openai_api.py, ollama_api.py) that only
translates requests into Session calls and events into its wire format (work.py);
the request checks (guard.py), the one-reply-at-a-time gate (replies.py) and the model
slot (residency.py) below them.
"""
