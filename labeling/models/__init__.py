from labeling.models.samples import Annotation, Grade, LabelSettings, Sample

__all__ = ["Annotation", "Grade", "LabelSettings", "Sample"]
