import pytest

from localthink.engine.protocol import Message, ThinkTags
from localthink.engine.template import FALLBACK_TEMPLATE, ChatTemplate, template_for
from localthink.errors import TemplateError


def test_gguf_template_is_used_when_present():
    t = template_for("{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}", "", "")
    assert t.from_gguf
    assert t.render([Message("user", "hi")]) == "[user]hi"


def test_missing_template_falls_back_to_chatml():
    t = template_for(None, "<s>", "</s>")
    assert not t.from_gguf and t.source == FALLBACK_TEMPLATE
    assert t.render([Message("user", "hi")]).endswith("<|im_start|>assistant\n")


def test_template_cannot_reach_python_internals():
    # The CVE-2024-34359 shape: walk from a string to os/subprocess.
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(TemplateError, match="unsafe"):
        ChatTemplate(evil).render([Message("user", "x")])


def test_template_raise_exception_is_a_one_line_error():
    t = ChatTemplate("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(TemplateError, match="roles must alternate"):
        t.render([Message("user", "x")])


def test_detects_template_that_opens_thinking():
    opens = ChatTemplate(
        "{{ messages[-1].content }}{% if add_generation_prompt %}<think>\n{% endif %}"
    )
    plain = ChatTemplate("{{ messages[-1].content }}")
    assert opens.opens_thinking(ThinkTags())
    assert not plain.opens_thinking(ThinkTags())
