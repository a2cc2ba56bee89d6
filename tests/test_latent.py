"""Latent-space walks: interpolation paths and vector arithmetic."""
import numpy as np
import pytest

from tfgan_impl import latent


def test_lerp_and_slerp_start_and_end_at_the_end_points():
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal(16), rng.standard_normal(16)
    for path in (latent.lerp(start, end, [0.0, 0.5, 1.0]), latent.slerp(start, end, [0.0, 0.5, 1.0])):
        np.testing.assert_allclose(path[0], start, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(path[-1], end, rtol=1e-5, atol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_end_points_where_lerp_shrinks_it():
    start, end = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    np.testing.assert_allclose(np.linalg.norm(latent.slerp(start, end, np.linspace(0, 1, 7)), axis=1), 3.0,
                               rtol=1e-6)
    assert np.linalg.norm(latent.lerp(start, end, [0.5])[0]) < 2.2
    np.testing.assert_allclose(latent.slerp(start, start, [0.3]), [start], rtol=1e-6)  # parallel: no arc


def test_interpolation_grid_is_rows_of_paths_and_seeded():
    grid = latent.interpolation_grid(8, rows=3, steps=4, seed=1)
    assert grid.shape == (12, 8) and grid.dtype == np.float32
    np.testing.assert_array_equal(grid, latent.interpolation_grid(8, rows=3, steps=4, seed=1))
    assert not np.allclose(grid[3], grid[4])  # a new path starts at row 1
    with pytest.raises(ValueError, match="at least 2 steps"):
        latent.interpolation_grid(8, rows=1, steps=1)
