"""imukin: lower-limb joint kinematics from body-worn inertial sensors."""
from imukin.errors import ImukinError

__version__ = "0.1.0"

__all__ = ["ImukinError", "__version__"]
