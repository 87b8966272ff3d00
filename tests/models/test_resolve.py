import pytest

from localthink.config import paths
from localthink.errors import ModelNotFoundError
from localthink.models.resolve import local_models, resolve_model


def test_default_is_smallest_local_model(smollm2_path, isolated_home):
    paths().models_dir.mkdir(parents=True)
    big = paths().models_dir / "big.gguf"
    big.write_bytes(smollm2_path.read_bytes() + b"\0" * 1024)
    assert {m.name for m in local_models()} == {"smollm2-135m", "big"}
    assert resolve_model(None).model.name == "smollm2-135m"


def test_configured_default_wins(isolated_home, smollm2_path):
    paths().config_dir.mkdir(parents=True)
    paths().settings_path.write_text(f'default_model = "{smollm2_path}"\n')
    r = resolve_model(None)
    assert r.how == "configured" and r.model.path == smollm2_path


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ModelNotFoundError, match="did you mean qwen3-0.6b"):
        resolve_model("qwen3-0.6")


def test_registry_name_not_installed_says_how_to_pull():
    with pytest.raises(ModelNotFoundError, match="localthink pull qwen3-4b"):
        resolve_model("qwen3-4b")


def test_path_that_does_not_exist():
    with pytest.raises(ModelNotFoundError, match="no such file"):
        resolve_model("/nowhere/model.gguf")


def test_an_imported_model_whose_file_is_gone_says_to_import_it_again(
    smollm2_path, tmp_path, isolated_home
):
    from localthink.models.user_registry import import_gguf

    mine = tmp_path / "mine.gguf"
    mine.write_bytes(smollm2_path.read_bytes())
    import_gguf(mine, "mine")
    assert resolve_model("mine").model.path == mine
    mine.unlink()
    with pytest.raises(ModelNotFoundError, match="its file .* is gone; import it again") as err:
        resolve_model("mine")
    assert "pull" not in str(err.value)  # before: "run `localthink pull mine`", which cannot work
