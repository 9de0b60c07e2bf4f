//! `penaxtra_mapping`: skeleton; filled by its issue. Nothing here works yet.
