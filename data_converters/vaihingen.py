"""Convert the official ISPRS Vaihingen archives to tiled mmseg layout.

    python data_converters/vaihingen.py RAW [RAW ...] -o data/vaihingen [--preset authors|mmseg] [--nproc 4]

RAW: the archives as downloaded from the ISPRS benchmark page, the folder holding them, or the folder tree they
extract to. Read: ISPRS_semantic_labeling_Vaihingen.zip (images ``top/top_mosaic_09cm_area<N>.tif``, IRRG false
colour, used as-is), ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip (full GT, same basenames as the
images, at the archive's top level) and ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip (eroded
GT, ``top_mosaic_09cm_area<N>_noBoundary.tif``). The image archive's ``gts_for_participants/`` (the full GT of the
16 training areas, again under the images' basenames) stands in where the complete GT is absent; its ``dsm/`` is
never read. 33 areas of varying size at 9 cm; split 16 train / 17 test (test areas go to the val folders),
identical to mmseg's converter and the GeoSeg/SCSM papers.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _isprs import ISPRSSpec, at_root_or_in, in_folder, main  # noqa: E402

_AREA = r'top_mosaic_09cm_area(\d+)'


class Vaihingen(ISPRSSpec):
    name = 'Vaihingen'
    url = 'https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx'
    archives = ('ISPRS_semantic_labeling_Vaihingen.zip', 'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip',
                'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip')
    products = dict(irrg='top')
    default_product = 'irrg'
    roles = dict(
        top=in_folder('top', rf'{_AREA}\.tif'),
        dsm=in_folder('dsm', r'dsm_09cm_matching_area(\d+)\.tif'),
        full_participants=in_folder('gts_for_participants', rf'{_AREA}\.tif'),
        full=at_root_or_in('ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE', rf'{_AREA}\.tif'),
        eroded=at_root_or_in('ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE',
                             rf'{_AREA}_noBoundary\.tif'),
        eroded_participants=in_folder('gts_eroded_for_participants', rf'{_AREA}_noBoundary\.tif'))
    gt_roles = dict(full=('full', 'full_participants'), eroded=('eroded', 'eroded_participants'))
    area_label = 'area{}'
    splits = dict(
        train=[str(a) for a in (1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37)],
        val=[str(a) for a in (2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38)])


if __name__ == '__main__':
    main(Vaihingen(), 'data/vaihingen')
