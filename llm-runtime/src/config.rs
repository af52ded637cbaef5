use std::marker::PhantomData;

/// Configuration builder of a provider (stub).
pub struct ProviderConfig<P> {
    _p: PhantomData<P>,
}
