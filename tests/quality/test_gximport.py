"""kznews.quality.gximport: Great Expectations imported without SciPy's statistics and Altair
until something uses them. Each case runs in a fresh interpreter: the import happens once per
process, and this test process may have imported GX already."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # each case imports GX in a fresh interpreter (~3-6 s)


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_import_leaves_the_distribution_libraries_unloaded_and_the_finder_gone():
    got = _run(
        "import json, sys\n"
        "from kznews.quality.gximport import import_great_expectations, _LazyFinder\n"
        "gx = import_great_expectations()\n"
        "print(json.dumps({\n"
        "  'gx': gx is sys.modules['great_expectations'],\n"
        "  'context': hasattr(gx, 'get_context'),\n"
        "  'executed': [m for m in ('scipy.stats._stats_py', 'altair.vegalite')\n"
        "               if m in sys.modules],\n"
        "  'finders': [type(f).__name__ for f in sys.meta_path if isinstance(f, _LazyFinder)],\n"
        "}))\n"
    )
    assert got == {"gx": True, "context": True, "executed": [], "finders": []}


def test_an_expectation_that_needs_them_still_works():
    """The KL-divergence expectation is what imports both: building it and using SciPy
    through the name GX bound loads the real modules on first use."""
    got = _run(
        "import json, sys\n"
        "from kznews.quality.gximport import import_great_expectations\n"
        "import_great_expectations()\n"
        "import great_expectations.expectations as gxe\n"
        "from great_expectations.expectations.core import "
        "expect_column_kl_divergence_to_be_less_than as kl\n"
        "gxe.ExpectColumnKLDivergenceToBeLessThan(column='x', threshold=0.1,\n"
        "    partition_object={'bins': [0, 1, 2], 'weights': [0.5, 0.5]})\n"
        "print(json.dumps({'entropy': round(float(kl.stats.entropy([0.5, 0.5])), 4),\n"
        "                  'chart': kl.alt.Chart.__name__,\n"
        "                  'loaded': 'scipy.stats._stats_py' in sys.modules}))\n"
    )
    assert got == {"entropy": 0.6931, "chart": "Chart", "loaded": True}


def test_a_module_imported_before_is_left_as_it_is():
    got = _run(
        "import json, sys\n"
        "import scipy.stats\n"
        "from kznews.quality.gximport import import_great_expectations\n"
        "import_great_expectations()\n"
        "print(json.dumps({'same': sys.modules['scipy.stats'] is scipy.stats,\n"
        "                  'lazy': type(scipy.stats).__name__ == '_LazyModule'}))\n"
    )
    assert got == {"same": True, "lazy": False}
