"""Convert the official ISPRS Vaihingen archives to tiled mmseg layout.

    python data_converters/vaihingen.py RAW_DIR -o data/vaihingen [--preset authors|mmseg] [--nproc 4]

RAW_DIR holds, as downloaded from the ISPRS benchmark page: ISPRS_semantic_labeling_Vaihingen.zip (top/
top_mosaic_09cm_area<N>.tif, IRRG false colour, used as-is), ISPRS_semantic_labeling_Vaihingen_ground_truth_
COMPLETE.zip (full GT) and ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip (eroded GT,
top_mosaic_09cm_area<N>_noBoundary.tif). 33 areas at 9 cm; split 16 train / 17 test (test areas go to the val
folders), identical to mmseg's converter and the GeoSeg/SCSM papers.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _isprs import ISPRSSpec, main  # noqa: E402


class Vaihingen(ISPRSSpec):
    name = 'Vaihingen'
    url = 'https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx'
    image_zip = 'ISPRS_semantic_labeling_Vaihingen.zip'
    gt_zips = dict(full='ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip',
                   eroded='ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip')
    image_re = r'^top_mosaic_09cm_area(\d+)\.tif$'
    gt_res = dict(full=r'^top_mosaic_09cm_area(\d+)\.tif$', eroded=r'^top_mosaic_09cm_area(\d+)_noBoundary\.tif$')
    splits = dict(
        train=[str(a) for a in (1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37)],
        val=[str(a) for a in (2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38)])


if __name__ == '__main__':
    main(Vaihingen(), 'data/vaihingen')
