"""Peak-RSS probe for memory-bound tests, prepended to the script a test runs in a fresh
interpreter (tests/ingest/test_zip_bomb.py, tests/load/test_error_body_memory.py): only the
child's own growth counts, not import-time peaks or the forking parent's RSS."""


def reset_peak() -> None:  # Linux: the peak RSS (VmHWM) restarts from the current RSS
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def status_kib(key: str) -> int:  # not ru_maxrss: that also counts the parent's RSS at fork
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key))
