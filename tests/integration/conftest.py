"""Fixtures that make uniquely named network namespaces and always delete them."""

from __future__ import annotations

import pytest

from kernel import add_netns, delete_netns, unique_prefix


@pytest.fixture
def prefix():
    return unique_prefix()


@pytest.fixture
def make_netns(prefix):
    """make_netns("a") -> "<prefix>a", a fresh namespace deleted (by exact name) after the test."""
    made = []

    def make(suffix):
        name = prefix + suffix
        add_netns(name)
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        delete_netns(name)


@pytest.fixture
def netns(make_netns):
    return make_netns("n")
