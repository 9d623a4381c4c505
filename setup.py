"""Install the MCG grouping and object-proposal engine."""
from setuptools import find_packages, setup

LAYERS = ["mcg", "contours", "ncuts", "grouping", "eval"]

setup(
    name="mcg",
    version="0.1.0",
    description=(
        "Multiscale Combinatorial Grouping (MCG) and SCG: contours, ultrametric contour "
        "maps and ranked object proposals, with the BSDS500 and proposal benchmarks."
    ),
    python_requires=">=3.11",
    packages=find_packages(include=LAYERS + [f"{layer}.*" for layer in LAYERS]),
    package_data={"mcg": ["models/*"], "contours": ["models/*"]},
    include_package_data=True,
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-image>=0.21",
        "numba>=0.58",
        "opencv-python-headless>=4.8",
        "pycocotools>=2.0.7",
        "matplotlib>=3.7",
    ],
    extras_require={
        "test": ["pytest>=7", "scikit-learn>=1.3"],
        "train": ["scikit-learn>=1.3"],
        # --scheduler (Dask distributed clusters) and fsspec URLs as inputs and outputs
        "dask": ["dask[distributed]>=2024.1", "fsspec>=2023.1"],
    },
    entry_points={"console_scripts": ["mcg = mcg.cli:main"]},
)
