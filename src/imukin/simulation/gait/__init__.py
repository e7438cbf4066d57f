"""Synthetic walking and running: segment poses of pelvis, thighs, shanks and feet.

How a sequence is made
----------------------
1. **Joint-angle templates.** For every curve of :data:`~imukin.simulation.body.CURVE_CHANNELS`
   (pelvis tilt/obliquity/rotation; hip, knee, ankle flexion/adduction/rotation) a few key
   points (percent of the gait cycle from heel strike, degrees) are given at three anchor
   speeds per activity. Key-point timing and values are interpolated through the anchors
   in the dimensionless speed ``v* = v / sqrt(g * leg length)`` (quadratic), a periodic
   cubic spline is drawn through them, the curve is reduced to :data:`N_HARMONICS`
   Fourier harmonics and each coefficient is fitted by a cubic polynomial in ``v*``. The
   result is C-infinity in phase and speed, so positions can be differentiated twice for
   accelerometers. Walking key points follow normal adult gait (Perry & Burnfield 2010;
   Kadaba et al. 1990; Winter 2009) and its speed effects (knee loading-response flexion,
   hip range and pelvic motion grow with speed; Schwartz et al. 2008). Running swing
   follows Novacheck (1998, Gait Posture 7:77): swing knee flexion 85-120 deg; toe-off
   at 40 % of the cycle when jogging down to 28 % at 5 m/s. Running stance key points
   come from two-link inverse kinematics of a stance in which the hip sweeps forward
   evenly over the contact length, dips 1-2 cm and the foot rolls heel - flat - forefoot
   (stance knee flexion 35-60 deg). Angles use Plug-in Gait conventions, which equal
   :mod:`imukin.conventions` (flexion, adduction, internal rotation, dorsiflexion
   positive); the pelvis frame is the anatomical (ASIS/PSIS) one, so it carries the
   anterior pelvic tilt (about 10-20 deg) and hip flexion includes it.
2. **Per-subject and per-stride variation.** Smooth per-subject curve deviations,
   left/right asymmetry, a cadence factor (see :mod:`imukin.simulation.body`), and
   smooth stride-to-stride modulation of each curve's amplitude and offset and of the
   stride time; each leg has its own phase (left half a cycle after right, plus
   asymmetry and step-timing jitter).
3. **Fit to the ground** (per subject, on a grid of speeds, :func:`~imukin.simulation.gait.stride.stride_table`). The
   target cadence is an empirical law of speed and leg length (:func:`step_frequency_hz`)
   times the cadence factor. Walking: the hip flexion and pelvic rotation ranges are
   scaled (0.65-1.4) so that the no-slip stride length of the subject's own kinematics
   is ``speed / stride frequency``; a hip flexion offset and a correction of the trailing
   leg in double support (knee flexion or push-off plantarflexion) put both feet on the
   ground when the heel lands; a phase warp (:func:`~imukin.simulation.gait.stride.walk_warp`) evens out the forward
   speed within the stride (the templates alone sweep the stance foot back unevenly).
   Running: the range scale sets the contact length; a phase warp (:func:`~imukin.simulation.gait.stride.run_warp`)
   gives the stance the spring-mass speed course (a dip of :data:`RUN_SPEED_DIP` at
   mid-stance) and the flight keeps the speed of the stances around it.
4. **Forward kinematics** through :func:`imukin.conventions.angles_to_relative_rotation`:
   ``R_thigh = R_pelvis @ angles_to_relative_rotation(hip, "hip", side)`` and so on, so
   :func:`imukin.conventions.joint_angles` returns :attr:`Kinematics.angles` exactly.
   Walking: from the end of loading response to heel rise the loaded foot lies flat and
   still on the ground (:data:`~imukin.simulation.gait.pose.FLAT_FOOT_STANCE`) and the
   ankle angle follows from it, as in real gait (the shank rolls forward over the foot);
   the templates alone left the foot rocking on its heel or forefoot there.
5. **Whole-body translation** from ground contact. Each sole is four rolling circles
   (heel, forefoot; medial, lateral); the loaded foot rolls without slipping (the pelvis
   horizontal velocity is minus the velocity, relative to the pelvis, of the material
   point under the foot) and touches the ground (sets the pelvis height). Walking: the
   load passes from the trailing to the leading foot across double support, no foot
   ever enters the ground, and the result is jerk-limited. Running: stance from heel
   strike to toe-off, ballistic flight (vertical acceleration -g, constant horizontal
   velocity) between stances, joined by a jerk-limited least-squares fit. The walking
   direction follows a slowly varying heading (gentle turns) and the speed can change
   smoothly within a sequence.
6. **Standing still** (walking, ``GaitConfig.stand_prob``; off by default). A sequence may start
   and end standing: each side's curves move towards a quiet standing pose
   (:func:`~imukin.simulation.gait.pose.standing_pose`: the person's own mean stance, thighs
   near vertical, knees near extension, slow sway, both feet level on the ground) while the
   step clock slows to a stop, so the first steps out of standing are short and quick and the
   ground contact of step 5 carries the body throughout (no foot slides).

Lab frame: Y up, X the initial walking direction, Z to the right (:mod:`imukin.conventions`).

Modules
-------
* :mod:`~imukin.simulation.gait.templates`: key points, the Fourier model in speed, stance
  fraction, the Schwartz speed classes (step 1);
* :mod:`~imukin.simulation.gait.pose`: per-side curves with their variation, pelvis angles,
  segment poses relative to the pelvis (steps 2 and 4);
* :mod:`~imukin.simulation.gait.contact`: ground contact, walking and running translation,
  ballistic fit (step 5);
* :mod:`~imukin.simulation.gait.stride`: cadence law, fit to the ground, phase warps (step 3);
* :mod:`~imukin.simulation.gait.generator`: :class:`GaitConfig`, :class:`Kinematics`,
  :func:`generate_gait` and :func:`normalise_cycles`;
* :mod:`~imukin.simulation.gait.smooth`: smooth ramps and smooth random signals.
"""
from imukin.simulation.gait.contact import RUN_SPEED_DIP
from imukin.simulation.gait.generator import (
           SPEED_LIMITS_M_S,
           SPEED_RANGE_M_S,
           GaitConfig,
           Kinematics,
           check_stand_prob,
           generate_gait,
           normalise_cycles,
)
from imukin.simulation.gait.pose import pelvis_angles_from_rotation, pelvis_rotation_from_angles
from imukin.simulation.gait.stride import WALK_SPEED_SWING, WALK_WARP_RATE_RANGE, WALK_WARP_SMOOTH, step_frequency_hz
from imukin.simulation.gait.templates import (
           ANCHOR_VSTAR,
           N_HARMONICS,
           RUN_STANCE_FRACTION,
           SCHWARTZ_SPEED_CLASSES,
           VSTAR_RANGE,
           stance_fraction,
)

__all__ = ["ANCHOR_VSTAR", "N_HARMONICS", "RUN_SPEED_DIP", "RUN_STANCE_FRACTION", "SCHWARTZ_SPEED_CLASSES",
           "SPEED_LIMITS_M_S", "SPEED_RANGE_M_S", "VSTAR_RANGE", "WALK_SPEED_SWING", "WALK_WARP_RATE_RANGE",
           "WALK_WARP_SMOOTH", "GaitConfig", "Kinematics", "check_stand_prob", "generate_gait", "normalise_cycles",
           "pelvis_angles_from_rotation", "pelvis_rotation_from_angles", "stance_fraction", "step_frequency_hz"]
