"""The data stage: find images, read any format, audit, crop/resize, prepare, tf.data.

    discover    find images in the Kaggle (Training|Testing/<class>/) or plain (<class>/) layout
    readers     read any JPEG/PNG/BMP/TIFF/DICOM file, whatever its extension, as uint8 gray
    crop        margin removal + square padding + resize (`preprocess_array`)
    preprocess  `preprocess_file`: the single transform shared by `prepare` and `predict`
    hashing     256-bit pHash of the cropped image and a vectorized all-pairs Hamming search
    duplicates  exact (SHA-256) and near (pHash within data.near_threshold) duplicates and leaks
    analyze     per-file work (hash, checksum, header, preprocessed PNG) over a process pool
    audit       `run_audit`: unreadable files, sizes, modes, duplicates, train/test leaks
    split       stratified seeded splits: plain layout and grouped (connected components)
    prepare     `run_prepare`: write PREP/train|test/<class>/*.png + prepare.json
    pipeline    tf.data pipelines over a prepared dir (the only module here using TensorFlow)
"""
