"""opjord: the share of agricultural land in a comprehensive plan's development areas."""

__version__ = "0.1.0"

ANALYSIS_CRS = "EPSG:3006"  # SWEREF 99 TM: every area is measured planar in this CRS
