"""Convert the official ISPRS Potsdam archives to tiled mmseg layout.

    python data_converters/potsdam.py RAW_DIR -o data/potsdam [--preset authors|mmseg] [--nproc 4]

RAW_DIR holds, as downloaded from the ISPRS benchmark page: 2_Ortho_RGB.zip (top_potsdam_<a>_<b>_RGB.tif),
5_Labels_all.zip (full GT, top_potsdam_<a>_<b>_label.tif) and 5_Labels_all_noBoundary.zip (eroded GT,
top_potsdam_<a>_<b>_label_noBoundary.tif). 38 tiles of 6000x6000 at 5 cm; split 24 train / 14 test (the test
tiles go to the val folders), identical to mmseg's converter and the GeoSeg/SCSM papers; tile 7_10 is kept.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _isprs import ISPRSSpec, main  # noqa: E402


class Potsdam(ISPRSSpec):
    name = 'Potsdam'
    url = 'https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-potsdam.aspx'
    image_zip = '2_Ortho_RGB.zip'
    gt_zips = dict(full='5_Labels_all.zip', eroded='5_Labels_all_noBoundary.zip')
    image_re = r'^top_potsdam_(\d+_\d+)_RGB\.tif$'
    gt_res = dict(full=r'^top_potsdam_(\d+_\d+)_label\.tif$',
                  eroded=r'^top_potsdam_(\d+_\d+)_label_noBoundary\.tif$')
    splits = dict(
        train=['2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11', '4_12', '5_10', '5_11', '5_12',
               '6_7', '6_8', '6_9', '6_10', '6_11', '6_12', '7_7', '7_8', '7_9', '7_10', '7_11', '7_12'],
        val=['2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15', '5_13', '5_14', '5_15', '6_13', '6_14',
             '6_15', '7_13'])


if __name__ == '__main__':
    main(Potsdam(), 'data/potsdam')
