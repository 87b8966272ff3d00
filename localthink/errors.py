"""Errors a user can cause: each carries a one-line message the CLI prints before exiting 2."""


class LocalthinkError(Exception):
    """Base for every error caused by user input or the user's machine."""


class ModelNotFoundError(LocalthinkError):
    """A model file or name that does not resolve to a local GGUF."""


class BadGGUFError(LocalthinkError):
    """A file that is not a readable, complete GGUF."""


class ModelLoadError(LocalthinkError):
    """llama.cpp refused to load a file that looked like a GGUF."""


class PromptTooLongError(LocalthinkError):
    """The rendered prompt does not fit in the context window."""


class GenerationError(LocalthinkError):
    """llama.cpp failed while generating a reply."""


class TemplateError(LocalthinkError):
    """A chat template that cannot be rendered safely."""


class StoreError(LocalthinkError):
    """The conversation store cannot be opened or written."""
