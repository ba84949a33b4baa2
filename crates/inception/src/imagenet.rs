//! ImageNet-1k class names in the index order of timm's 1000-class models (the TF-slim
//! background class removed), generated from timm's synset list by
//! `tools/imagenet_classes.py`.

pub const NUM_CLASSES: usize = 1000;

const TSV: &str = include_str!("imagenet_classes.tsv");

/// `(WordNet synset id, "lemma, lemma, ...")` per class.
pub static SYNSETS: std::sync::LazyLock<Vec<(&'static str, &'static str)>> =
    std::sync::LazyLock::new(|| TSV.lines().filter_map(|l| l.split_once('\t')).collect());

/// Human-readable class names, e.g. `"tench, Tinca tinca"`.
pub static CLASSES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| SYNSETS.iter().map(|(_, name)| *name).collect());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousand_classes_in_timm_order() {
        assert_eq!(CLASSES.len(), NUM_CLASSES);
        assert_eq!(SYNSETS[0].0, "n01440764");
        assert_eq!(CLASSES[0], "tench, Tinca tinca");
        assert_eq!(CLASSES[999], "toilet tissue, toilet paper, bathroom tissue");
    }
}
