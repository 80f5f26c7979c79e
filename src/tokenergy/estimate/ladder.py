"""The boundary ladder of the estimator: accelerator → node → facility, one explicit step each.

Per model (its surface says how many GPUs and which GPU model serve it):

- **accelerator**: P = GPUs × per-GPU power × u. The per-GPU power is, in order: a stated figure
  (``power_per_gpu_w``), the measured mean power per GPU the surface was calibrated on, or the
  catalog TDP of the GPU (``gpu``, else the surface's GPU).
- **node**: the accelerator power × (1 + host overhead) when ``host_overhead`` is given, else the
  node's full-draw power P_max (``pmax_w``, default by GPU count: 11.3 kW per 8 GPUs).
- **facility**: the node power × PUE. PUE is applied at this boundary only.

A measured power is the mean draw at the measured operating point, so u is not applied to it.
A stated or measured per-GPU power is at the accelerator boundary: moving it to the node needs a
host overhead (``0`` says the host is ignored), never a silent P_max.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenergy import catalog
from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Point
from tokenergy.estimate.params import EstimateParams, FleetParams, default_p_idle_w, default_pmax_w
from tokenergy.estimate.surface import SurfaceFit
from tokenergy.records import BoundaryStep
from tokenergy.units import Basis, Boundary

LADDER_BOUNDARIES = (Boundary.ACCELERATOR, Boundary.NODE, Boundary.FACILITY)


@dataclass(frozen=True)
class NodePower:
    """The power a model's deployment draws at the stated boundary, before u and PUE.

    ``pmax_w`` is the full-draw power that u scales (GPUs × per-GPU power [× host], or the node
    P_max); ``p_idle_w`` the idle draw used by ``--correlate-power`` and the fleet's β_util.
    """

    pmax_w: float
    p_idle_w: float
    boundary: Boundary = Boundary.FACILITY
    basis: Basis = Basis.NAMEPLATE
    method: str = "node P_max"
    gpus: int | None = None
    gpu: str | None = None
    power_per_gpu_w: float | None = None
    host_factor: float | None = None
    applies_util: bool = True

    @property
    def applies_pue(self) -> bool:
        return self.boundary is Boundary.FACILITY

    def steps(self) -> list[BoundaryStep]:
        """The outward steps taken (PUE as a distribution is named, its factor is per draw)."""
        steps = []
        if self.host_factor is not None:
            step = BoundaryStep(
                name="host overhead", factor=self.host_factor, to_boundary=Boundary.NODE
            )
            steps.append(step)
        return steps

    def to_dict(self) -> dict[str, Any]:
        return {
            "boundary": self.boundary.value,
            "power_basis": self.basis.value,
            "power_method": self.method,
            "num_gpus": self.gpus,
            "gpu": self.gpu,
            "power_per_gpu_w": self.power_per_gpu_w,
            "host_factor": self.host_factor,
            "full_power_w": self.pmax_w,
            "p_idle_w": self.p_idle_w,
            "util_applied": self.applies_util,
            "pue_applied": self.applies_pue,
        }


def node_power(fit: SurfaceFit, pmax_w: float | None, p_idle_w: float | None) -> NodePower:
    """The node's full-draw and idle power: the given ones, or the defaults for its GPU count."""
    pmax = pmax_w if pmax_w is not None else default_pmax_w(fit.gpus)
    idle = p_idle_w if p_idle_w is not None else default_p_idle_w(pmax)
    if idle >= pmax:
        raise ConfigError(
            f"idle power {idle:g} W must be below P_max {pmax:g} W ({fit.model})", field="p_idle_w"
        )
    return NodePower(pmax, idle, gpus=fit.gpus, gpu=fit.gpu)


def check_ladder(params: EstimateParams | FleetParams) -> None:
    """Refuse contradictory boundary options before any model is looked at."""
    if params.boundary not in LADDER_BOUNDARIES:
        raise ConfigError(
            f"the estimator's boundary is accelerator, node or facility, not {params.boundary}",
            field="boundary",
        )
    if params.boundary is Boundary.ACCELERATOR:
        for option, value in (("pmax_w", params.pmax_w), ("host_overhead", params.host_overhead)):
            if value is not None:
                raise ConfigError(
                    "the accelerator boundary counts the GPUs only; a node power or host overhead "
                    "does not belong to it",
                    field=option,
                )
    if params.pmax_w is not None and params.host_overhead is not None:
        raise ConfigError(
            "give the node power either as `pmax_w` or as GPU power × (1 + `host_overhead`)",
            field="host_overhead",
        )


def deployment_power(fit: SurfaceFit, params: EstimateParams | FleetParams) -> NodePower:
    """The power of ``fit``'s deployment at ``params.boundary`` (see the module docstring)."""
    check_ladder(params)
    gpus, gpu = fit.gpus, params.gpu or fit.gpu
    per_gpu_w, basis, method = _accelerator_power(fit, params, gpu)
    stated = params.power_per_gpu_w is not None or fit.power_per_gpu_w is not None
    host_factor = None
    if params.boundary is Boundary.ACCELERATOR or params.host_overhead is not None:
        if per_gpu_w is None:
            raise ConfigError(
                f"{fit.model}: the GPU model is unknown, so its power is too; give `gpu` "
                f"({', '.join(catalog.known_gpus())}) or `power_per_gpu_w`",
                field="gpu",
            )
        full_w = gpus * per_gpu_w
        if params.host_overhead is not None:
            host_factor = 1.0 + params.host_overhead
            full_w *= host_factor
            method += f" × (1 + {params.host_overhead:g} host)"
    elif stated and params.pmax_w is None:
        raise ConfigError(
            f"{fit.model}: a {basis.value} per-GPU power is at the accelerator boundary; to reach "
            f"the {params.boundary} add `host_overhead` (0% to ignore the host) or give `pmax_w`",
            field="host_overhead",
        )
    else:
        full_w = params.pmax_w if params.pmax_w is not None else default_pmax_w(gpus)
        per_gpu_w, basis = None, Basis.NAMEPLATE
        method = "node P_max" + ("" if params.pmax_w is not None else f" ({gpus} GPUs)")
    idle_w = params.p_idle_w if params.p_idle_w is not None else default_p_idle_w(full_w)
    if idle_w >= full_w:
        raise ConfigError(
            f"idle power {idle_w:g} W must be below the full-draw power {full_w:g} W ({fit.model})",
            field="p_idle_w",
        )
    return NodePower(
        pmax_w=full_w,
        p_idle_w=idle_w,
        boundary=params.boundary,
        basis=basis,
        method=method,
        gpus=gpus,
        gpu=gpu,
        power_per_gpu_w=per_gpu_w,
        host_factor=host_factor,
        applies_util=basis is not Basis.MEASURED,
    )


def _accelerator_power(
    fit: SurfaceFit, params: EstimateParams | FleetParams, gpu: str | None
) -> tuple[float | None, Basis, str]:
    if params.power_per_gpu_w is not None:
        return params.power_per_gpu_w, Basis.PROVISIONED, "stated W/GPU × GPUs"
    if fit.power_per_gpu_w is not None:
        return fit.power_per_gpu_w, Basis.MEASURED, "measured mean W/GPU × GPUs"
    if gpu is None:
        return None, Basis.NAMEPLATE, "catalog TDP × GPUs"
    return catalog.tdp_w(gpu), Basis.NAMEPLATE, f"{catalog.canonical_gpu(gpu)} TDP × GPUs"


def model_params(params: EstimateParams, node: NodePower) -> EstimateParams:
    """The parameters one model is drawn with: u and PUE fixed at 1 where the ladder omits them."""
    update: dict[str, Any] = {}
    if not node.applies_util:
        update["util"] = _ONE
    if not node.applies_pue:
        update["pue"] = _ONE
    return params.model_copy(update=update) if update else params


_ONE = Point(value=1.0)
