from gankit.registry import Registry

AUGMENTS = Registry("augmentation")
