"""Placeholder until the virt machine lands."""


def qtest_available():
    return False


class QTestRig:
    pass
