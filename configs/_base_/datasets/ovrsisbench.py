# OVRSISBench (RSKT-Seg, AAAI 2026): the zero-shot test sets, each on its "all" split, with the dataset's own
# class (one class per dataset) and the OVRSISBench vocabulary in configs/rskt_seg/vocabularies/<name>.txt.
# Vocabulary line i is the prompt of label i of the dataset below (so uavid.txt lists clutter last, as
# UAVidDataset does); metainfo['classes'] has the same length and order.
# "all" = every labelled image of the converted dataset: train + val (+ test where it is labelled).
# Build a test run with e.g.  test_dataloader = dict(dataset={{_base_.ovrsis_test_sets.potsdam}}).
# Converted layouts (defaults of data_converters/*.py); the OVRSISBench bundle's own tiling is not reproducible
# from the official releases, see docs/datasets.md "OVRSISBench".
_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def _split(type_, root, split, **kw):
    return dict(type=type_, data_root=root, pipeline=_test_pipeline,
                data_prefix=dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'), **kw)


def _all(type_, root, **kw):  # every split of a converter that writes splits/all.txt
    return dict(type=type_, data_root=root, pipeline=_test_pipeline, ann_file='splits/all.txt',
                data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'), **kw)


# iSAID: the 15 foreground classes (background -> 255 through mmseg's label_map), OVRSISBench order = mmseg order
_isaid_fg = dict(classes=('ship', 'store_tank', 'baseball_diamond', 'tennis_court', 'basketball_court',
                          'Ground_Track_Field', 'Bridge', 'Large_Vehicle', 'Small_Vehicle', 'Helicopter',
                          'Swimming_pool', 'Roundabout', 'Soccer_ball_field', 'plane', 'Harbor'))
# LoveDA as OVRSISBench scores it: 8 classes, raw label 0 "no-data" is a class (not ignored). mmseg's
# LoveDADataset cannot carry 8 names (its label_map would treat them as a remap), so the generic BaseSegDataset
# holds the metainfo; the 7-class convention is ovrsis_test_sets.loveda7.
_loveda8 = dict(classes=('no-data', 'background', 'building', 'road', 'water', 'barren', 'forest', 'agricultural'),
                palette=[[255, 255, 255], [255, 248, 220], [100, 149, 237], [102, 205, 170], [205, 133, 63],
                         [160, 32, 240], [255, 64, 64], [139, 69, 19]])
ovrsis_test_sets = dict(
    dlrsd=_all('DLRSDDataset', 'data/dlrsd'),
    isaid=dict(type='ConcatDataset', datasets=[
        _split('iSAIDDataset', 'data/iSAID', s, metainfo=_isaid_fg) for s in ('train', 'val')]),
    loveda=dict(type='ConcatDataset', datasets=[
        _split('BaseSegDataset', 'data/loveDA', s, metainfo=_loveda8, img_suffix='.png', seg_map_suffix='.png',
               reduce_zero_label=False) for s in ('train', 'val')]),
    loveda7=dict(type='ConcatDataset', datasets=[_split('LoveDADataset', 'data/loveDA', s)
                                                 for s in ('train', 'val')]),
    potsdam=dict(type='ConcatDataset', datasets=[_split('PotsdamDataset', 'data/potsdam', s)
                                                 for s in ('train', 'val')]),
    uavid=dict(type='ConcatDataset', datasets=[_split('UAVidDataset', 'data/uavid', s) for s in ('train', 'val')]),
    udd5=_all('UDD5Dataset', 'data/udd5'),
    vaihingen=dict(type='ConcatDataset', datasets=[_split('ISPRSDataset', 'data/vaihingen', s)
                                                   for s in ('train', 'val')]),
    vdd=_all('VDDDataset', 'data/vdd'))
# absolute paths next to this file (mmengine substitutes {{fileDirname}}): any working directory works
ovrsis_vocabulary_dir = '{{fileDirname}}/../../rskt_seg/vocabularies'
ovrsis_vocabularies = {k: f'{ovrsis_vocabulary_dir}/{k}.txt' for k in ovrsis_test_sets if k != 'loveda7'}
ovrsis_vocabularies['loveda7'] = f'{ovrsis_vocabulary_dir}/loveda7.txt'
