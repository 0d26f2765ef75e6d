"""CPU model names each target accepts with ``-cpu`` (execution comes with the TCG issue)."""

_MODELS = {
    "x86_64": [("qemu64", "QEMU Virtual CPU version 2.5+"), ("max", "Enables all features supported by the accelerator in the current host"),
               ("host", "processor with all supported host features")],
    "aarch64": [("cortex-a15", ""), ("cortex-a57", ""), ("cortex-a72", ""), ("max", "")],
    "ppc64": [("power8", ""), ("power9", ""), ("power10", "")],
}


def cpu_models(target: str) -> list[tuple[str, str]]:
    return list(_MODELS.get(target, []))
