"""pnet: ProjectionNet (Ravi 2017) for scikit-learn, on the CPU."""
from ._hyperplanes import Hyperplanes
from .classifier import ProjectionNetClassifier
from .compact import CompactProjectionNet, ModelFileError, load
from .compact_text import CompactTextProjectionNet
from .projection import LSHProjection
from .text import TextProjectionNetClassifier

__version__ = "0.3.0"
__all__ = ["CompactProjectionNet", "CompactTextProjectionNet", "Hyperplanes",
           "LSHProjection", "ModelFileError", "ProjectionNetClassifier",
           "TextProjectionNetClassifier", "load"]
