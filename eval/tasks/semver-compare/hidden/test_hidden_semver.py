from semver import compare

def test_core():
    assert compare("1.2.3", "1.2.3") == 0
    assert compare("1.10.0", "1.9.9") == 1
    assert compare("0.0.1", "0.1.0") == -1

def test_prerelease():
    assert compare("1.0.0-alpha", "1.0.0") == -1
    assert compare("1.0.0", "1.0.0-rc.1") == 1
    assert compare("1.0.0-alpha.1", "1.0.0-alpha.beta") == -1
    assert compare("1.0.0-rc.2", "1.0.0-rc.10") == -1
    assert compare("1.0.0-alpha", "1.0.0-alpha.1") == -1

def test_build_ignored():
    assert compare("1.0.0+abc", "1.0.0+xyz") == 0
