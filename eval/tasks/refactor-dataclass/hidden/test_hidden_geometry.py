import dataclasses
import pytest
from geometry import Point

def test_frozen_dataclass():
    assert dataclasses.is_dataclass(Point)
    p = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5
    assert len({Point(1, 2), Point(1, 2)}) == 1
    assert repr(p) == 'Point(x=1, y=2)'
