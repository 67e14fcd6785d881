"""Protocol-named metric keys, e.g. fid10k[lenet-mnist]: the measure, the sample count, the extractor."""

METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "cs", "classes", "class_kl")


def metric_names(n: int, extractor: str, conditional: bool = False) -> list[str]:
    """The keys a judge reports for n samples with `extractor` (plus cond_acc for conditional runs)."""
    tag = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    names = [*METRICS, "cond_acc"] if conditional else list(METRICS)
    return [f"{m}{tag}[{extractor}]" for m in names]
