"""Data pipeline: manifests, dataset readers, on-the-fly features, bucketing, collation."""

from seqlab.data.augment import speed_perturb
from seqlab.data.config import DataConfig
from seqlab.data.dataset import ASRDataset, FilterReport, collate, filter_utterances, min_ctc_frames
from seqlab.data.manifest import ManifestError, Utterance, read_manifest, write_manifest
from seqlab.data.sampler import BucketBatchSampler, make_batches
from seqlab.data.sources import read_folder, read_hf_dataset, read_kaldi_dir, read_source

__all__ = [
    "speed_perturb",
    "DataConfig",
    "ASRDataset",
    "FilterReport",
    "collate",
    "filter_utterances",
    "min_ctc_frames",
    "ManifestError",
    "Utterance",
    "read_manifest",
    "write_manifest",
    "BucketBatchSampler",
    "make_batches",
    "read_folder",
    "read_hf_dataset",
    "read_kaldi_dir",
    "read_source",
]
