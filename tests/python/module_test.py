"""Tests of the metaeikonal Python module (python/): the module's solve equals the CLI's bit for bit,
errors carry the CLI's one-line messages, arrays are NumPy views where the bindings say so, long calls
release the GIL, and datasets and tissue runs come through.

Run by ctest (python_module) as: python3 tests/python/module_test.py PATH/TO/metaeikonal
with PYTHONPATH=BUILD/python. Plain unittest: pytest is not a dependency."""

import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import metaeikonal as me

CLI = None  # the metaeikonal executable, from the command line
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIV = os.path.join(ROOT, "meshes", "biv_2k.vtu")
me.set_verbosity("quiet")  # as the CLI's -q: warnings and errors only


def cli(*args):
    """Runs the CLI quietly; returns (exit code, stderr)."""
    p = subprocess.run([CLI, "-q", *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stderr


def cli_error(*args):
    """The CLI's one-line error message (without 'error: ') for a failing command."""
    code, err = cli(*args)
    assert code == 1, (code, err)
    lines = [l for l in err.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0][len("error: "):]


def fibres(mesh):
    """Deterministic unit fibres per tet: a helix-like field around the long axis."""
    c = mesh.points[mesh.tets].mean(axis=1)
    angle = np.arctan2(c[:, 1], c[:, 0])
    f = np.stack([-np.sin(angle), np.cos(angle), 0.3 * np.ones_like(angle)], axis=1)
    return f / np.linalg.norm(f, axis=1, keepdims=True)


class Temp(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="metaeik_py_")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()


class MeshTest(Temp):
    def test_read_gives_float64_points_and_int32_tets_as_views(self):
        mesh = me.read_mesh(BIV)
        p, t = mesh.points, mesh.tets
        self.assertEqual(p.shape, (mesh.num_points, 3))
        self.assertEqual(t.shape, (mesh.num_tets, 4))
        self.assertEqual(p.dtype, np.float64)
        self.assertEqual(t.dtype, np.int32)
        self.assertTrue(p.flags.c_contiguous and t.flags.c_contiguous)
        # Views of the mesh's storage: two reads share memory and writes go through.
        self.assertTrue(np.shares_memory(p, mesh.points))
        self.assertTrue(np.shares_memory(t, mesh.tets))
        self.assertFalse(p.flags.owndata)
        p[0, 0] = 123.5
        self.assertEqual(mesh.points[0, 0], 123.5)
        surface = mesh.point_data["surface"]
        self.assertEqual(surface.shape, (mesh.num_points,))
        self.assertTrue(np.shares_memory(surface, mesh.point_data["surface"]))
        self.assertEqual(mesh.point_data_types["surface"], "int32")
        # A view keeps the mesh alive.
        del mesh
        self.assertEqual(p[0, 0], 123.5)

    def test_write_and_read_back_every_array_for_vtu_and_vtk(self):
        mesh = me.read_mesh(BIV)
        rng = np.random.default_rng(1)
        v = rng.uniform(0.1, 0.7, mesh.num_points)
        mesh.set_point_array("v", v)
        mesh.set_cell_array("f", fibres(mesh), "float32")
        for ext in (".vtu", ".vtk"):
            path = os.path.join(self.tmp, "m" + ext)
            me.write_mesh(mesh, path)
            back = me.read_mesh(path)
            np.testing.assert_array_equal(back.points, mesh.points)
            np.testing.assert_array_equal(back.tets, mesh.tets)
            np.testing.assert_array_equal(back.point_data["v"], v)
            # Stored as float32 on disk, read back as the float32 values.
            np.testing.assert_array_equal(back.cell_data["f"], mesh.cell_data["f"].astype(np.float32))
            self.assertEqual(back.cell_data_types["f"], "float32")
            self.assertEqual(sorted(back.point_data), sorted(mesh.point_data))

    def test_gmsh_and_opencarp_round_trips(self):
        mesh = me.read_mesh(BIV)
        f = fibres(mesh)
        mesh = me.TetMesh(mesh.points, mesh.tets)  # only what .msh and openCARP files hold
        for name in ("m.msh", "m.pts"):
            if name == "m.pts":
                mesh.set_cell_array("fiber", f)  # openCARP .lon
            path = os.path.join(self.tmp, name)
            me.write_mesh(mesh, path)
            back = me.read_mesh(path)
            np.testing.assert_allclose(back.points, mesh.points, rtol=0, atol=1e-9)
            np.testing.assert_array_equal(back.tets, mesh.tets)
        np.testing.assert_allclose(me.read_mesh(os.path.join(self.tmp, "m.elem")).cell_data["fiber"], f, atol=1e-6)
        with open(os.path.join(self.tmp, "s.vtx"), "w") as out:
            out.write("2\nintra\n5\n17\n")
        nodes, domain = me.read_vtx(os.path.join(self.tmp, "s.vtx"), mesh.num_points)
        self.assertEqual((nodes, domain), ([5, 17], "intra"))

    def test_mesh_from_arrays_and_generator(self):
        mesh = me.generate_ventricle(shape="lv", target_nodes=300, seed=4, max_attempts=1, node_tolerance=1.0)
        self.assertGreater(mesh.num_points, 200)
        self.assertIn("surface", mesh.point_data)
        self.assertIn("aha", mesh.point_data)
        copy = me.TetMesh(mesh.points, mesh.tets)
        np.testing.assert_array_equal(copy.points, mesh.points)
        self.assertFalse(np.shares_memory(copy.points, mesh.points))  # the constructor copies
        self.assertTrue(np.all(copy.volumes() > 0))
        self.assertTrue(np.all((copy.quality() > 0) & (copy.quality() <= 1)))


class ErrorTest(Temp):
    def assert_error(self, call, message):
        with self.assertRaises(me.Error) as cm:
            call()
        self.assertIsInstance(cm.exception, RuntimeError)
        self.assertEqual(str(cm.exception), message)

    def test_missing_file_has_the_cli_message(self):
        missing = os.path.join(self.tmp, "missing.vtu")
        expected = cli_error("solve", missing, "--speed", 0.6, "--source", 0, "-o", os.path.join(self.tmp, "o.vtu"))
        self.assertEqual(expected, missing + ": file does not exist")
        self.assert_error(lambda: me.read_mesh(missing), expected)

    def test_solver_errors_have_the_cli_message(self):
        mesh = me.read_mesh(BIV)
        solver = me.FimSolver(mesh.points, mesh.tets)
        n = mesh.num_points
        expected = cli_error("solve", BIV, "--speed", 0.6, "--source", n, "-o", os.path.join(self.tmp, "o.vtu"))
        self.assert_error(lambda: solver.solve(0.6, [n]), expected)

    def test_option_errors_name_the_key(self):
        self.assert_error(lambda: me.generate_ventricle(target_nodes=50),
                          "generate_ventricle: key 'target_nodes': must be at least 100, got 50")
        self.assert_error(lambda: me.generate_ventricle(nodes=500),
                          "generate_ventricle: key 'nodes': unknown key")
        self.assert_error(lambda: me.TetMesh(np.zeros((4, 3)), np.array([[0, 1, 2, 7]])),
                          "TetMesh: tet 0 references point 7, out of range [0, 4)")


class SolveTest(Temp):
    @classmethod
    def setUpClass(cls):
        cls.mesh = me.read_mesh(BIV)
        cls.sources = [0, (700, 4.5)]

    def cli_times(self, mesh_file, *args):
        out = os.path.join(self.tmp, "cli.vtu")
        code, err = cli("solve", mesh_file, "--source", 0, "--source", "700:4.5", "-o", out, *args)
        self.assertEqual(code, 0, err)
        return me.read_mesh(out).point_data["activation_time"]

    def assert_bitwise(self, a, b):
        self.assertEqual(a.dtype, np.float64)
        self.assertEqual(a.shape, b.shape)
        self.assertEqual(a.tobytes(), np.ascontiguousarray(b).tobytes())

    def test_isotropic_solve_equals_the_cli_bit_for_bit(self):
        solver = me.FimSolver(self.mesh.points, self.mesh.tets)
        times = solver.solve(0.6, self.sources)
        self.assert_bitwise(times, self.cli_times(BIV, "--speed", 0.6))
        self.assertTrue(np.all(np.isfinite(times)))
        # The result array owns the solver's buffer (moved into NumPy, no copy).
        self.assertEqual(type(times.base).__name__, "PyCapsule")

    def test_speed_arrays_per_node_and_per_tet_equal_the_cli(self):
        mesh = me.read_mesh(BIV)
        rng = np.random.default_rng(2)
        node_v = rng.uniform(0.1, 0.7, mesh.num_points)
        tet_v = rng.uniform(0.1, 0.7, mesh.num_tets)
        mesh.set_point_array("v_node", node_v)
        mesh.set_cell_array("v_tet", tet_v)
        path = os.path.join(self.tmp, "speeds.vtu")
        me.write_mesh(mesh, path)
        solver = me.FimSolver(mesh, me.FimOptions(threads=2))
        self.assert_bitwise(solver.solve(node_v, self.sources), self.cli_times(path, "--speed-array", "v_node"))
        self.assert_bitwise(solver.solve(tet_v, self.sources), self.cli_times(path, "--speed-array", "v_tet"))

    def test_anisotropic_solve_equals_the_cli(self):
        mesh = me.read_mesh(BIV)
        f = fibres(mesh)
        mesh.set_cell_array("fibres", f)
        path = os.path.join(self.tmp, "fibres.vtu")
        me.write_mesh(mesh, path)
        solver = me.FimSolver(mesh.points, mesh.tets)
        times = solver.solve(0.6, self.sources, fibers=f, transverse_ratio=0.3 / 0.6)
        self.assert_bitwise(times, self.cli_times(path, "--fibers", "fibres", "--speed-fiber", 0.6,
                                                  "--speed-sheet", 0.3))
        iso = solver.solve(0.6, self.sources)
        self.assertFalse(np.array_equal(times, iso))

    def test_dijkstra_equals_the_cli_and_bounds_fim(self):
        dijkstra = me.DijkstraSolver(self.mesh.points, self.mesh.tets).solve(0.6, self.sources)
        self.assert_bitwise(dijkstra, self.cli_times(BIV, "--speed", 0.6, "--method", "dijkstra"))
        fim = me.FimSolver(self.mesh.points, self.mesh.tets).solve(0.6, self.sources)
        self.assertTrue(np.all(dijkstra >= fim - 1e-9))

    def test_batch_equals_single_solves(self):
        solver = me.FimSolver(self.mesh.points, self.mesh.tets, me.FimOptions(threads=2))
        v = np.linspace(0.2, 0.7, self.mesh.num_points)
        aniso = me.SpeedField(v, fibers=fibres(self.mesh), transverse_ratio=0.4)
        speeds = [0.6, v, aniso]
        items = [(0, [5]), (1, [(9, 1.0), 300]), (2, me.Source(40, 2.0)), me.BatchItem(1, 77)]
        batch = solver.solve_batch(speeds, items)
        self.assertEqual(len(batch), 4)
        single = [solver.solve(0.6, [5]), solver.solve(v, [(9, 1.0), 300]), solver.solve(aniso, me.Source(40, 2.0)),
                  solver.solve(v, 77)]
        for b, s in zip(batch, single):
            self.assert_bitwise(b, s)
        times, stats = solver.solve_with_stats(0.6, 5)
        self.assertTrue(stats.converged)
        self.assert_bitwise(times, batch[0])

    def test_long_calls_release_the_gil(self):
        solver = me.FimSolver(self.mesh.points, self.mesh.tets, me.FimOptions(threads=1))
        items = [(0, [i * 37 % self.mesh.num_points]) for i in range(16)]
        call = {}

        def work():
            call["in"] = time.perf_counter()
            solver.solve_batch([0.6], items)
            call["out"] = time.perf_counter()

        # With the GIL held through the call, this thread could run only within a switch interval
        # (0.1 ms here) of the call's start and end; released, it runs all through the call.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-4)
        try:
            worker = threading.Thread(target=work)
            samples = []
            worker.start()
            while worker.is_alive():
                samples.append(time.perf_counter())
            worker.join()
        finally:
            sys.setswitchinterval(interval)
        quarter = (call["out"] - call["in"]) / 4
        middle = [t for t in samples if call["in"] + quarter < t < call["out"] - quarter]
        self.assertGreater(len(middle), 0)


class DatasetTest(Temp):
    def test_generate_load_and_iterate(self):
        config = {"seed": 5, "geometries": [{"name": "biv", "file": BIV}], "scars": {"aha_groups": [[1, 2, 7, 8], [18]]},
                  "maps_per_subject": 3, "split": {"train": 1, "val": 1}, "solver": {"threads": 2}}
        out = os.path.join(self.tmp, "ds")
        me.generate_dataset(config, out)
        ds = me.Dataset.load(out)
        self.assertEqual(len(ds), 6)
        self.assertEqual(len(ds.subjects), 2)
        self.assertEqual([m.split for m in ds.maps], ["train", "val", "test"] * 2)
        samples = list(ds)
        self.assertEqual([s.index for s in samples], list(range(6)))
        mesh = ds.mesh(0)
        solver = me.FimSolver(mesh.points, mesh.tets)
        for s in samples:
            np.testing.assert_array_equal(s.times, ds.activation(s.index))
            speed = ds.speed(s.subject)
            # The stored map is the FIM solve of the subject's speed from the map's sources.
            np.testing.assert_allclose(solver.solve(speed, s.sources), s.times, rtol=0, atol=1e-5)
        self.assertEqual(ds.maps_of(1, "test"), [5])
        self.assertEqual(ds[-1].index, 5)
        with self.assertRaises(IndexError):
            ds[6]
        with self.assertRaises(me.Error):
            me.generate_dataset(config, out)  # exists


@unittest.skipUnless(hasattr(me, "load_model"), "built without LibTorch (meta-PINN)")
class MetaPinnTest(Temp):
    """Training and personalisation run in the python_quickstart test; here the one-line errors."""

    def test_errors_carry_the_cli_message(self):
        missing = os.path.join(self.tmp, "no_run")
        expected = cli_error("personalize", "-m", missing, "--context", BIV, "--query", BIV, "-o",
                             os.path.join(self.tmp, "p.vtu"))
        self.assertEqual(expected, "model directory '" + missing + "' does not exist")
        with self.assertRaises(me.Error) as cm:
            me.load_model(missing)
        self.assertEqual(str(cm.exception), expected)
        with self.assertRaises(me.Error) as cm:
            me.train({"train": {"epochs": "many"}}, os.path.join(self.tmp, "no_data"), os.path.join(self.tmp, "r"))
        self.assertEqual(str(cm.exception), "train config: key 'train.epochs': expected an integer, got a string")


class TissueTest(Temp):
    def test_run_and_read_states(self):
        config = {"cell": {"model": "ms"}, "grid": {"nodes": [8, 6], "dx": 0.5},
                  "diffusion": {"d_long": 0.1, "d_trans": 0.1},
                  "time": {"dt": 0.02, "duration": 20},
                  "stimuli": [{"lo": [0, 0], "hi": [0.5, 3], "start": 0, "duration": 2, "amplitude": 0.5}],
                  "output": {"states": ["v", "h"], "binary_interval": 1, "maps": False}}
        out = os.path.join(self.tmp, "tissue")
        summary = me.run_tissue(config, out)
        self.assertEqual(summary["grid_nodes"], (8, 6, 1))
        self.assertEqual(summary["activation_time"].shape, (48,))
        self.assertTrue(np.all(np.isfinite(summary["activation_time"])))  # 20 ms reach every node
        self.assertTrue(os.path.isfile(os.path.join(out, "states.bin")))
        if not hasattr(me, "read_states"):
            self.skipTest("built without LibTorch (read_states)")
        states, info = me.read_states(out)
        self.assertEqual(info["variables"], ["v", "h"])
        self.assertEqual(states.dtype, np.float32)
        self.assertEqual(states.shape, (21, 2, 48))
        raw = np.fromfile(os.path.join(out, "states.bin"), dtype="<f4").reshape(states.shape)
        np.testing.assert_array_equal(states, raw)
        h_only, _ = me.read_states(out, ["h"])
        np.testing.assert_array_equal(h_only[:, 0], states[:, 1])
        with self.assertRaises(me.Error) as cm:
            me.read_states(out, ["Cai"])
        self.assertEqual(str(cm.exception),
                         os.path.join(out, "states.json") + ": variable 'Cai' is missing (has v, h)")


if __name__ == "__main__":
    CLI = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ.get("METAEIK_CLI", "metaeikonal")
    unittest.main(verbosity=2)
