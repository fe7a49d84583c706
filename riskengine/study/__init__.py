"""Dispersion studies: a spec's cells x samples fanned out over an executor into a Zarr cube.

Public API::

    spec = load_study_spec("configs/studies/smoke.yaml")     # or parse_study_spec(mapping), or a preset name
    run = run_study(spec, "/tmp/s.zarr", progress=print)      # -> StudyRun; resumes an interrupted study
    cube = open_cube("/tmp/s.zarr")                           # xarray.Dataset (same as xarray.open_zarr)
"""

from riskengine.store import open_cube
from riskengine.study.executor import Executor, InProcessExecutor, RayExecutor, TaskFailed
from riskengine.study.kernel import METRICS, CellRef, Kernel, ParamInfo, SampleBatch
from riskengine.study.plan import DEFAULT_CHUNK_SIZE, StudyPlan, plan_study
from riskengine.study.progress import ProgressCallback, StudyProgress
from riskengine.study.runner import StudyCancelled, StudyRun, run_study
from riskengine.study.spec import EarlyStopping, StudySpec, load_study_spec, parse_study_spec
from riskengine.study.validate import check_spec

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "METRICS",
    "CellRef",
    "EarlyStopping",
    "Executor",
    "InProcessExecutor",
    "Kernel",
    "ParamInfo",
    "ProgressCallback",
    "RayExecutor",
    "SampleBatch",
    "StudyCancelled",
    "StudyPlan",
    "StudyProgress",
    "StudyRun",
    "StudySpec",
    "TaskFailed",
    "check_spec",
    "load_study_spec",
    "open_cube",
    "parse_study_spec",
    "plan_study",
    "run_study",
]
