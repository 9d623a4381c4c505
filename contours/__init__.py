"""contours layer: structured edge forest (Dollar & Zitnick) inference, training and NMS.

Public API
----------
detect_edges(image, model=None, multiscale=False, sharpen=2, nms=True) -> (edges, orientation)
load_model(model=None) -> EdgeForest
EdgeForest (model format, save / load)
edge_nms(edges, orientation), edge_orientation(edges)
"""
from contours.detect import detect_edges, load_model
from contours.forest import EdgeForest
from contours.nms import edge_nms, edge_orientation

__all__ = ["detect_edges", "load_model", "EdgeForest", "edge_nms", "edge_orientation"]
