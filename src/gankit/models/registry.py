from gankit.registry import Registry

MODELS = Registry("model")
