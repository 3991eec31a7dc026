"""The one place that chooses how the elementwise kernels run.

Every kernel has a numpy reference (``_reference``: the equations, the
test oracle) and may have a compiled accelerator (``_relaxation_kernels``,
``_update_kernels``, built when a C compiler was available at install).  The
callers use this module's attributes (``_kernels.state_step(...)``), bound
here at import to the compiled version where it is importable and to the
reference otherwise.  ``SKLEARN_PC_NO_COMPILED=1`` in the environment at
import forces the references; :func:`use_compiled` switches at run time
(tests, benchmarks).  The compiled versions round differently from numpy in
the last bits (they evaluate the same expressions, but call ``math.h`` for
``tanh`` and ``exp``), never more than that.

:data:`COMPILED` maps the names of the kernels that have a compiled version
to it; :data:`IN_USE` maps every kernel's name to ``"compiled"`` or
``"reference"``.
"""

import os

from . import _reference
from ._reference import ACTIVATION_CODES  # noqa: F401  (re-exported for the callers)

NAMES = ("state_step", "error_energy", "prediction_error", "latent_step", "adam_update",
         "sgd_update")


def _compiled_kernels():
    """The compiled kernels that can be imported, by name (none when
    ``SKLEARN_PC_NO_COMPILED`` is set to anything but ``""`` or ``"0"``)."""
    if os.environ.get("SKLEARN_PC_NO_COMPILED", "") not in ("", "0"):
        return {}
    found = {}
    for module_name in ("_relaxation_kernels", "_update_kernels"):
        try:
            module = __import__(f"{__package__}.{module_name}", fromlist=["_"])
        except ImportError:
            continue
        found.update({name: getattr(module, name) for name in NAMES if hasattr(module, name)})
    return found


COMPILED = _compiled_kernels()
IN_USE = {}


def use_compiled(enabled=True, names=NAMES):
    """Bind the kernels ``names`` to their compiled versions (where there is
    one) when ``enabled``, else to their numpy references; returns the
    previous :data:`IN_USE`, which :func:`restore` takes back."""
    previous = dict(IN_USE)
    for name in names:
        compiled = enabled and name in COMPILED
        globals()[name] = COMPILED[name] if compiled else getattr(_reference, name)
        IN_USE[name] = "compiled" if compiled else "reference"
    return previous


def restore(previous):
    """Undo :func:`use_compiled`, given what it returned."""
    for name, implementation in previous.items():
        use_compiled(implementation == "compiled", (name,))


use_compiled(True)
