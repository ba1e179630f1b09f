import os
import pathlib

import pytest


@pytest.fixture(scope="session")
def real_data():
    env = os.environ.get("XRAYKIT_DATA")
    path = pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[3] / "shared/data/chest_xray/train"
    if not path.is_dir():
        pytest.fail(f"real data not found at {path}: set XRAYKIT_DATA")
    return path
