from gankit.registry import Registry

DATASETS = Registry("data set")
