"""pnet: ProjectionNet (Ravi 2017) for scikit-learn, on the CPU."""
from ._hyperplanes import Hyperplanes
from .classifier import ProjectionNetClassifier
from .compact import CompactProjectionNet, ModelFileError, load
from .projection import LSHProjection

__version__ = "0.1.0"
__all__ = ["CompactProjectionNet", "Hyperplanes", "LSHProjection", "ModelFileError",
           "ProjectionNetClassifier", "load"]
