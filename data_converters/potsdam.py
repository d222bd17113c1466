"""Convert the official ISPRS Potsdam archives to tiled mmseg layout.

    python data_converters/potsdam.py RAW [RAW ...] -o data/potsdam [--preset authors|mmseg] [--nproc 4]

RAW: the product archives as the ISPRS download holds them (the download is one ``Potsdam.zip`` packing them:
extract that once), the folder holding them, or the folder tree they extract to. Read: 2_Ortho_RGB.zip
(``2_Ortho_RGB/top_potsdam_<a>_<b>_RGB.tif``), 5_Labels_all.zip (full GT, ``top_potsdam_<a>_<b>_label.tif``) and
5_Labels_all_noBoundary.zip (eroded GT, ``..._label_noBoundary.tif``); 5_Labels_for_participants(_no_Boundary)
(the same labels for the 24 training tiles) stand in where the complete ones are absent. Never read as images:
1_DSM, 1_DSM_normalisation, 4_Ortho_RGBIR, and 3_Ortho_IRRG unless ``--product irrg``. 38 tiles of 6000x6000 at
5 cm; split 24 train / 14 test (the test tiles go to the val folders), identical to mmseg's converter and the
GeoSeg/SCSM papers; tile 7_10 is kept.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _isprs import ISPRSSpec, at_root_or_in, in_folder, main  # noqa: E402

_TILE = r'top_potsdam_(\d+_\d+)'


class Potsdam(ISPRSSpec):
    name = 'Potsdam'
    url = 'https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-potsdam.aspx'
    archives = ('2_Ortho_RGB.zip', '5_Labels_all.zip', '5_Labels_all_noBoundary.zip')
    products = dict(rgb='rgb', irrg='irrg')
    default_product = 'rgb'
    roles = dict(
        rgb=in_folder('2_Ortho_RGB', rf'{_TILE}_RGB\.tif'),
        irrg=in_folder('3_Ortho_IRRG', rf'{_TILE}_IRRG\.tif'),
        rgbir=in_folder('4_Ortho_RGBIR', rf'{_TILE}_RGBIR\.tif'),
        dsm=in_folder('1_DSM', r'dsm_potsdam_(\d+_\d+)\.tif'),
        ndsm=in_folder('1_DSM_normalisation', r'dsm_potsdam_(\d+_\d+)_normalized_lastools\.jpg'),
        full=at_root_or_in('5_Labels_all', rf'{_TILE}_label\.tif'),
        full_participants=in_folder('5_Labels_for_participants', rf'{_TILE}_label\.tif'),
        eroded=at_root_or_in('5_Labels_all_noBoundary', rf'{_TILE}_label_noBoundary\.tif'),
        eroded_participants=in_folder('5_Labels_for_participants_no_Boundary', rf'{_TILE}_label_noBoundary\.tif'))
    gt_roles = dict(full=('full', 'full_participants'), eroded=('eroded', 'eroded_participants'))
    splits = dict(
        train=['2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11', '4_12', '5_10', '5_11', '5_12',
               '6_7', '6_8', '6_9', '6_10', '6_11', '6_12', '7_7', '7_8', '7_9', '7_10', '7_11', '7_12'],
        val=['2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15', '5_13', '5_14', '5_15', '6_13', '6_14',
             '6_15', '7_13'])


if __name__ == '__main__':
    main(Potsdam(), 'data/potsdam')
